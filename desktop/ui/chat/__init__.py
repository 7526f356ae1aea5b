"""The conversation on screen: controller, inference worker, view, bubbles, composer, budget."""

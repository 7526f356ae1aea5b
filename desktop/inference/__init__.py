"""Model inspection, chat templates and the engines that run models (no Qt)."""

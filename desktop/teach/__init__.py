"""Teaching a model from the user's examples: LoRA fine-tuning on the CPU (optional)."""

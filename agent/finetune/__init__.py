"""Fine-tuning the local LLM: training dialogues, LoRA recipes, the training loop, DP-SGD.

``ddx data dialogues`` writes chat-format conversations (the embedded engine as teacher, or the
user's own dialogues validated); ``ddx finetune`` trains a PEFT LoRA adapter on them, optionally
with differential privacy, and the adapter plugs into the ``hf:<base>+<adapter>`` backend.
"""

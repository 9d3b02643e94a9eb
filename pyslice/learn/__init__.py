"""Floor 3, learning: batched TD3 for K agents (``td3``), per-agent replay buffers (``replay``),
the training loop with checkpoints (``train``), the VAE of the similarity measure (``vae``),
learning-curve statistics (``learning_curves``) and TensorBoard logs of training (``tensorboard``)."""

"""Neural networks: the video VAE, the diffusion transformer, text encoders."""

"""What the lessons compute from models: latent walks, what codes carry, denoising, the GAN
diagnosis (one, for the GAN studio and the 2-D lab), and the 2-D GAN lab."""

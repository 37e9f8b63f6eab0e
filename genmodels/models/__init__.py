"""Model families, one file each: autoencoder.py (ae, sparse_ae, dae), vae.py, gan.py (gan, dcgan)."""

"""How good a model is, in numbers: image quality (PSNR, SSIM), the Frechet distance on the
classifier's features, mode and support coverage of 2-D samples, smoothed curves."""

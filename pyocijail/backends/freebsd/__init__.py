"""The FreeBSD jail backend: plan (pure), kernel seam, libc kernel, backend."""

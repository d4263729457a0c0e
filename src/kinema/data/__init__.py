"""Data: the procedural kinema world (``kinema.data.world``) and real video collections
(``kinema.data.real``): manifests, clip sampling, buckets, motion scores, latent caches."""

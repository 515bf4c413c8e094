"""Small JAX transformers meta-trained on synthetic task families (built in a later issue).

This package never imports `theory`; `iclverify` joins the two.
"""

"""How a window's dense features are computed from a family's image tower.

A method reads the backbone through one small interface (``dense.backbone``); the nine
last-layer attentions are the simplest methods. The SimFeatUp upsampler also lives here: it
takes a method's patch features to pixel resolution.
"""

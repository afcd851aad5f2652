"""Generators: everything that makes an app's files from its AppSpec.

``code/`` renders the source of the app, ``image/`` its pictures (logo, hero, gallery) and
``video/`` its clips. Each kind of media sits behind a small Protocol with an offline procedural
backend as the default, so an app can be built with no GPU, no weights and no network.
"""

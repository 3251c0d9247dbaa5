"""Training and evaluation of the classifier artefact."""

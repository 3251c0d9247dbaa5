"""What the services' text normalisers share: a view of a text that remembers where each of its characters
came from, and Unicode's look-alikes of Latin letters. Each service keeps its own spelling (the classifier's
in `triage_classifier.normalise`, the PHI guard's in `triage_api.replies.normalise`)."""

from triage_text.homoglyphs import latin_lookalike
from triage_text.mapped import Normalised, clusters, fold_clusters

__all__ = ["Normalised", "clusters", "fold_clusters", "latin_lookalike"]

"""Every comment the classifier judged, benign ones too, kept for a while so people can find what it missed."""

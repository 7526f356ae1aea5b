"""The Qt user interface: widgets, the controller and the inference worker thread."""

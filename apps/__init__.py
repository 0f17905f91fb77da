"""Using trained models: faces in photos and video, prediction, annotation, the web page and the comparison
report. Above the data library (ferdata) and the trainer; nothing below imports this package."""

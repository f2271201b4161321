"""Running a trained detector on ordinary image files (`keras-boxloss
predict`): `images` finds and reads them, `detect_images` runs a `train`
run's model or an exported SavedModel on them and writes the results."""

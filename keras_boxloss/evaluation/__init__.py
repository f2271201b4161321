"""Detection evaluation: COCO metrics (pycocotools), the Smooth IoU paper's
mean-IoU localisation metric, the predictions format and visualisation."""

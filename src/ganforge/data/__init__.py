"""Data: sources (IDX files, downloads, folders, toy distributions) to in-memory uint8 tensors."""

from ganforge.data.batches import Batches, to_unit_range
from ganforge.data.catalog import dataset_names, load_dataset
from ganforge.data.images import ImageData

__all__ = ["Batches", "ImageData", "dataset_names", "load_dataset", "to_unit_range"]

"""PyTorch tools for FCA: a BERT with FCA in the forward pass, training, search and export."""

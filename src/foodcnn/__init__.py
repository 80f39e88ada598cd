"""foodcnn: small CNNs and MobileNetV2 transfer learning on food photos, as a DVC pipeline."""

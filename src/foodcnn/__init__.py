"""foodcnn: small CNNs and MobileNetV2 transfer learning on food photos, as a DVC pipeline."""

from foodcnn.numerics import use_portable_cpu_numerics

# Before anything imports torch: its CPU libraries read these settings once, when they first run.
use_portable_cpu_numerics()

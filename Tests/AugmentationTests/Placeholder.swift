import Testing
import Augmentation

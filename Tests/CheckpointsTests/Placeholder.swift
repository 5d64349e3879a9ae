import Testing
import Checkpoints

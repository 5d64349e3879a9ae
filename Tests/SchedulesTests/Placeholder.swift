import Testing
import Schedules

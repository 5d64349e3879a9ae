import Augmentation
import Datasets
import Testing

@Suite("augmentation lists")
struct TransformParsingTests {
    @Test("lists parse into application order, with defaults and parameters")
    func parses() throws {
        #expect(try Transform.parseList("crop,flip,cutout") == [.crop(padding: 4), .flip, .cutout(holes: 1, side: 16)])
        #expect(try Transform.parseList(" cutout=2x8, flip ,crop=2") == [.crop(padding: 2), .flip, .cutout(holes: 2, side: 8)])
        #expect(try Transform.parseList("cutout=12") == [.cutout(holes: 1, side: 12)])
        #expect(try Transform.parseList("none") == [])
        #expect(try Transform.parseList("NONE") == [])
        #expect(try Transform.parseList("rrc,flip") == [.resizedCrop(scale: 0.08 ... 1, ratio: 0.75 ... Float(4.0 / 3.0)), .flip])
        #expect(try Transform.parseList("random-resized-crop=0.25-1:0.5-2") == [.resizedCrop(scale: 0.25 ... 1, ratio: 0.5 ... 2)])
        #expect(try Transform.parseList("crop=0") == [.crop(padding: 0)])
    }

    @Test("descriptions read back as the same list")
    func roundTrip() throws {
        for text in ["crop=3,flip,cutout=4x5", "rrc=0.08-1:0.75-1.3333334", "flip", "none", "rrc=0.5-0.9,cutout=2x2"] {
            let list = try Transform.parseList(text)
            #expect(try Transform.parseList(Transform.listDescription(list)) == list, "\(text)")
        }
        #expect(Transform.listDescription([.crop(padding: 4), .flip]) == "crop=4,flip")
    }

    @Test("bad entries are errors naming the entry",
          arguments: [
              ("crop,blur", "'blur'", "unknown transform"),
              ("crop=-1", "'crop=-1'", "padding"),
              ("crop=x", "'crop=x'", "padding"),
              ("crop=", "'crop='", "missing value"),
              ("cutout=0x16", "'cutout=0x16'", "number of holes"),
              ("cutout=1x", "'cutout=1x'", "HOLESxSIDE"),
              ("cutout=1x0", "'cutout=1x0'", "hole side"),
              ("crop,flip,crop=2", "'crop=2'", "more than once"),
              ("crop,rrc", "'rrc'", "cannot be combined"),
              ("none,flip", "'none'", "cannot be combined"),
              ("crop,,flip", "'crop,,flip'", "empty entry"),
              ("", "''", "empty entry"),
              ("flip=1", "'flip=1'", "no value"),
              ("rrc=0-1", "'rrc=0-1'", "(0, 1]"),
              ("rrc=1-0.5", "'rrc=1-0.5'", "MIN-MAX"),
              ("rrc=0.1-1:0-2", "'rrc=0.1-1:0-2'", "aspect ratio"),
          ])
    func errors(text: String, entry: String, reason: String) {
        do {
            let list = try Transform.parseList(text)
            Issue.record("'\(text)' parsed as \(list)")
        } catch {
            let message = "\(error)"
            #expect(message.contains("augmentation entry \(entry)"), "\(message)")
            #expect(message.contains(reason), "\(message)")
        }
    }

    @Test("every dataset's default augmentation parses; CIFAR crop 4 + flip, MNIST-like crop 2, photographs rrc + flip")
    func defaults() throws {
        for kind in DatasetKind.allCases {
            // Photographs are described by what their directory holds.
            let descriptor = kind.isPhotos
                ? DatasetDescriptor.photos(kind, classNames: ["a", "b"], size: 64, trainCount: 2, testCount: 2)
                : DatasetDescriptor.of(kind)
            #expect(try Transform.parseList(descriptor.defaultAugmentation) == descriptor.defaultTransforms)
            #expect(!descriptor.defaultTransforms.isEmpty, "\(kind)")
        }
        #expect(DatasetDescriptor.of(.cifar10).defaultTransforms == [.crop(padding: 4), .flip])
        #expect(DatasetDescriptor.of(.cifar100).defaultTransforms == [.crop(padding: 4), .flip])
        #expect(DatasetDescriptor.of(.mnist).defaultTransforms == [.crop(padding: 2)])
        #expect(DatasetDescriptor.of(.fashionMNIST).defaultTransforms == [.crop(padding: 2)])
        #expect(DatasetDescriptor.photos(.folder, classNames: ["a"], size: 32, trainCount: 1, testCount: 1).defaultTransforms
            == [.defaultResizedCrop, .flip])
    }

    @Test("a policy rejects a padding larger than the image")
    func policy() throws {
        #expect(throws: TransformListError.self) {
            try AugmentationPolicy([.crop(padding: 5)], shape: ImageShape(channels: 1, height: 4, width: 4))
        }
        #expect(throws: TransformListError.self) {
            try AugmentationPolicy([.crop(padding: 1), .defaultResizedCrop], shape: ImageShape(channels: 1, height: 4, width: 4))
        }
    }
}

/// The names of a dataset's classes, in label order, as its publishers list them: CIFAR-10's
/// `batches.meta.txt`, CIFAR-100's `fine_label_names.txt`, Fashion-MNIST's label table, MNIST's
/// digits; a generated dataset's classes are numbered ("class 0", …). Photographs' classes are their
/// folders' names (`ImageFolder`). `DatasetDescriptor.classNames` holds one or the other.
enum ClassNames {
    static func published(_ kind: DatasetKind, classes: Int) -> [String] {
        let names: [String]? = switch kind {
        case .cifar10: cifar10
        case .cifar100: cifar100
        case .mnist: (0 ..< 10).map(String.init)
        case .fashionMNIST: fashionMNIST
        case .synthetic, .folder, .shards: nil
        }
        guard let names, names.count == classes else { return (0 ..< classes).map { "class \($0)" } }
        return names
    }

    static let cifar10 = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]

    static let fashionMNIST = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                               "Ankle boot"]

    /// The fine labels (the coarse ones, the 20 superclasses, are not what the models predict).
    static let cifar100 = """
        apple aquarium_fish baby bear beaver bed bee beetle bicycle bottle bowl boy bridge bus butterfly camel can castle \
        caterpillar cattle chair chimpanzee clock cloud cockroach couch crab crocodile cup dinosaur dolphin elephant \
        flatfish forest fox girl hamster house kangaroo keyboard lamp lawn_mower leopard lion lizard lobster man \
        maple_tree motorcycle mountain mouse mushroom oak_tree orange orchid otter palm_tree pear pickup_truck pine_tree \
        plain plate poppy porcupine possum rabbit raccoon ray road rocket rose sea seal shark shrew skunk skyscraper snail \
        snake spider squirrel streetcar sunflower sweet_pepper table tank telephone television tiger tractor train trout \
        tulip turtle wardrobe whale willow_tree wolf woman worm
        """.split(separator: " ").map(String.init)
}

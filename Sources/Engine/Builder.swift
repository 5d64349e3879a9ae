/// The operations models are written with. Each returns the slot of its output.
extension NetworkBuilder {
    public func conv(_ x: Int, outChannels: Int, kernel: Int, stride: Int = 1, padding: Int? = nil,
                     bias: Bool = false, name: String) -> Int {
        let inShape = shapes[x]
        let p = padding ?? (kernel - 1) / 2
        let name = uniqueName(name)
        var node: Conv2D!
        let out = add({ output in
            node = Conv2D(name: name, input: x, output: output, inShape: inShape, outChannels: outChannels,
                          kernel: kernel, stride: stride, padding: p, bias: bias, parameters: &parameters)
            return node
        }, shape: TensorShape(channels: outChannels,
                              height: Conv2D.outputSize(inShape.height, kernel: kernel, stride: stride, padding: p),
                              width: Conv2D.outputSize(inShape.width, kernel: kernel, stride: stride, padding: p)))
        return out
    }

    /// Batch norm, then (optionally) + residual, then (optionally) ReLU.
    public func batchNorm(_ x: Int, residual: Int? = nil, relu: Bool, name: String) -> Int {
        let shape = shapes[x]
        if let residual { precondition(shapes[residual] == shape, "residual \(shapes[residual]) vs \(shape)") }
        let name = uniqueName(name)
        return add({ output in
            BatchNorm(name: name, input: x, residual: residual, output: output, shape: shape, relu: relu,
                      parameters: &parameters)
        }, shape: shape)
    }

    public func relu(_ x: Int, name: String = "relu") -> Int {
        let shape = shapes[x]
        let name = uniqueName(name)
        return add({ ReLU(name: name, input: x, output: $0, shape: shape) }, shape: shape)
    }

    public func add(_ a: Int, _ b: Int, relu: Bool, name: String = "add") -> Int {
        let shape = shapes[a]
        precondition(shapes[b] == shape, "add: \(shapes[a]) vs \(shapes[b])")
        let name = uniqueName(name)
        return add({ Add(name: name, a: a, b: b, output: $0, shape: shape, relu: relu) }, shape: shape)
    }

    public func maxPool(_ x: Int, kernel: Int, stride: Int? = nil, padding: Int = 0, name: String = "maxpool") -> Int {
        pool(.max, x, kernel: kernel, stride: stride, padding: padding, name: name)
    }

    public func avgPool(_ x: Int, kernel: Int, stride: Int? = nil, padding: Int = 0, name: String = "avgpool") -> Int {
        pool(.average, x, kernel: kernel, stride: stride, padding: padding, name: name)
    }

    private func pool(_ kind: Pool2D.Kind, _ x: Int, kernel: Int, stride: Int?, padding: Int, name: String) -> Int {
        let node = Pool2D(kind, name: uniqueName(name), input: x, output: shapes.count, inShape: shapes[x], kernel: kernel,
                          stride: stride ?? kernel, padding: padding)
        return add({ _ in node }, shape: node.outShape)
    }

    public func globalAvgPool(_ x: Int, name: String = "pool") -> Int {
        let inShape = shapes[x]
        let name = uniqueName(name)
        return add({ GlobalAvgPool(name: name, input: x, output: $0, inShape: inShape) },
                   shape: TensorShape(features: inShape.channels))
    }

    /// A linear layer over the flattened sample.
    public func linear(_ x: Int, outFeatures: Int, name: String) -> Int {
        let inFeatures = shapes[x].elements
        let name = uniqueName(name)
        return add({ output in
            Linear(name: name, input: x, output: output, inFeatures: inFeatures, outFeatures: outFeatures,
                   parameters: &parameters)
        }, shape: TensorShape(features: outFeatures))
    }

    public func dropout(_ x: Int, name: String = "dropout") -> Int {
        guard dropoutSites else { return x }
        let shape = shapes[x]
        let name = uniqueName(name)
        let index = nodes.count
        return add({ Dropout(name: name, input: x, output: $0, shape: shape, layerIndex: index) }, shape: shape)
    }

    /// He et al.'s option-A shortcut: subsample by `stride`, zero-pad to `outChannels` channels.
    public func zeroPadShortcut(_ x: Int, outChannels: Int, stride: Int, name: String = "shortcut") -> Int {
        let inShape = shapes[x]
        let name = uniqueName(name)
        let node = ZeroPadShortcut(name: name, input: x, output: shapes.count, inShape: inShape,
                                   outChannels: outChannels, stride: stride)
        return add({ _ in node }, shape: node.outShape)
    }

    /// Finishes the graph: `output` holds the logits.
    public func build(name: String, output: Int, seed: UInt64) -> Network {
        Network(name: name, builder: self, output: output, seed: seed)
    }
}

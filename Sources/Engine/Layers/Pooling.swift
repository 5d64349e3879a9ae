import CKernels

/// Max or average pooling over k×k windows with stride s and padding p. Padded positions never
/// win a max; an average counts them as zeros (PyTorch's default `count_include_pad`).
final class Pool2D: Node {
    enum Kind { case max, average }

    let kind: Kind
    let name: String
    let inputs: [Int]
    let output: Int
    let inShape: TensorShape, outShape: TensorShape
    let kernel: Int, stride: Int, padding: Int
    /// Max pooling: the winning input position of every output, for backward.
    private var argmax: UnsafeMutablePointer<Int32>?

    init(_ kind: Kind, name: String, input: Int, output: Int, inShape: TensorShape, kernel: Int, stride: Int, padding: Int) {
        self.kind = kind
        self.name = name
        self.inputs = [input]
        self.output = output
        self.inShape = inShape
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
        outShape = TensorShape(channels: inShape.channels,
                               height: Conv2D.outputSize(inShape.height, kernel: kernel, stride: stride, padding: padding),
                               width: Conv2D.outputSize(inShape.width, kernel: kernel, stride: stride, padding: padding))
    }

    deinit { argmax?.deallocate() }

    var flopsPerSample: Int { 0 }

    func allocate(images: Int) {
        guard kind == .max else { return }
        argmax?.deallocate()
        argmax = .allocate(capacity: max(images * outShape.elements, 1))
    }

    func scratchBytes(images: Int) -> Int { kind == .max ? max(images * outShape.elements, 1) * 4 : 0 }

    /// The input rows (or columns) under output row (or column) `o`, padding left out.
    private func window(_ o: Int, size: Int) -> Range<Int> {
        max(o * stride - padding, 0) ..< min(o * stride - padding + kernel, size)
    }

    func forward(_ pass: Pass) {
        let x = pass.activations[inputs[0]].view, y = pass.activations[output].view
        let scale = 1 / Float(kernel * kernel)
        var index = argmax
        for n in 0 ..< pass.images {
            for c in 0 ..< inShape.channels {
                let plane = x.data! + n * x.image + c * x.plane
                for oy in 0 ..< outShape.height {
                    let rows = window(oy, size: inShape.height)
                    let out = y.data! + n * y.image + c * y.plane + oy * y.row
                    for ox in 0 ..< outShape.width {
                        let columns = window(ox, size: inShape.width)
                        switch kind {
                        case .max:
                            var best = -Float.infinity
                            var at: Int32 = -1
                            for iy in rows {
                                for ix in columns {
                                    let v = plane[iy * x.row + ix]
                                    if v > best || at < 0 { best = v; at = Int32(iy * inShape.width + ix) }
                                }
                            }
                            out[ox] = best
                            index!.pointee = at
                            index! += 1
                        case .average:
                            var sum: Float = 0
                            for iy in rows {
                                for ix in columns { sum += plane[iy * x.row + ix] }
                            }
                            out[ox] = sum * scale
                        }
                    }
                }
            }
        }
    }

    func backward(_ pass: Pass, needsGradient: [Bool], accumulate: [Bool]) {
        guard needsGradient[0] else { return }
        let dy = pass.gradients[output].view, dx = pass.gradients[inputs[0]].view
        if !accumulate[0] { zeroInterior(dx, images: pass.images, shape: inShape) }
        let scale = 1 / Float(kernel * kernel)
        var index = argmax.map { UnsafePointer($0) }
        for n in 0 ..< pass.images {
            for c in 0 ..< inShape.channels {
                let plane = dx.data! + n * dx.image + c * dx.plane
                for oy in 0 ..< outShape.height {
                    let rows = window(oy, size: inShape.height)
                    let g = dy.data! + n * dy.image + c * dy.plane + oy * dy.row
                    for ox in 0 ..< outShape.width {
                        switch kind {
                        case .max:
                            let at = Int(index!.pointee)
                            plane[at / inShape.width * dx.row + at % inShape.width] += g[ox]
                            index! += 1
                        case .average:
                            let share = g[ox] * scale
                            for iy in rows {
                                for ix in window(ox, size: inShape.width) { plane[iy * dx.row + ix] += share }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Mean over each channel's plane: C×H×W → C×1×1.
final class GlobalAvgPool: Node {
    let name: String
    let inputs: [Int]
    let output: Int
    let inShape: TensorShape

    init(name: String, input: Int, output: Int, inShape: TensorShape) {
        self.name = name
        self.inputs = [input]
        self.output = output
        self.inShape = inShape
    }

    var flopsPerSample: Int { 0 }

    func forward(_ pass: Pass) {
        let x = pass.activations[inputs[0]].view, y = pass.activations[output].view
        let scale = 1 / Float(inShape.height * inShape.width)
        for n in 0 ..< pass.images {
            for c in 0 ..< inShape.channels {
                let plane = x.data! + n * x.image + c * x.plane
                var sum: Float = 0
                for r in 0 ..< inShape.height {
                    for i in 0 ..< inShape.width { sum += plane[r * x.row + i] }
                }
                y.data![n * y.image + c * y.plane] = sum * scale
            }
        }
    }

    func backward(_ pass: Pass, needsGradient: [Bool], accumulate: [Bool]) {
        guard needsGradient[0] else { return }
        let dy = pass.gradients[output].view, dx = pass.gradients[inputs[0]].view
        let scale = 1 / Float(inShape.height * inShape.width)
        for n in 0 ..< pass.images {
            for c in 0 ..< inShape.channels {
                let share = dy.data![n * dy.image + c * dy.plane] * scale
                let plane = dx.data! + n * dx.image + c * dx.plane
                for r in 0 ..< inShape.height {
                    let row = plane + r * dx.row
                    if accumulate[0] {
                        for i in 0 ..< inShape.width { row[i] += share }
                    } else {
                        for i in 0 ..< inShape.width { row[i] = share }
                    }
                }
            }
        }
    }
}

/// The parameter-free shortcut of He et al.'s CIFAR ResNets ("option A"): subsample by the
/// stride and pad the new channels with zeros, half before and half after the old ones.
final class ZeroPadShortcut: Node {
    let name: String
    let inputs: [Int]
    let output: Int
    let inShape: TensorShape, outShape: TensorShape
    let stride: Int
    var before: Int { (outShape.channels - inShape.channels) / 2 }

    init(name: String, input: Int, output: Int, inShape: TensorShape, outChannels: Int, stride: Int) {
        self.name = name
        self.inputs = [input]
        self.output = output
        self.inShape = inShape
        self.stride = stride
        outShape = TensorShape(channels: outChannels, height: (inShape.height - 1) / stride + 1,
                               width: (inShape.width - 1) / stride + 1)
    }

    var flopsPerSample: Int { 0 }

    func forward(_ pass: Pass) {
        let x = pass.activations[inputs[0]].view, y = pass.activations[output].view
        for n in 0 ..< pass.images {
            for c in 0 ..< outShape.channels {
                let source = c - before
                for oy in 0 ..< outShape.height {
                    let out = y.data! + n * y.image + c * y.plane + oy * y.row
                    guard source >= 0 && source < inShape.channels else {
                        out.update(repeating: 0, count: outShape.width)
                        continue
                    }
                    let row = x.data! + n * x.image + source * x.plane + oy * stride * x.row
                    for ox in 0 ..< outShape.width { out[ox] = row[ox * stride] }
                }
            }
        }
    }

    func backward(_ pass: Pass, needsGradient: [Bool], accumulate: [Bool]) {
        guard needsGradient[0] else { return }
        let dy = pass.gradients[output].view, dx = pass.gradients[inputs[0]].view
        if !accumulate[0] { zeroInterior(dx, images: pass.images, shape: inShape) }
        for n in 0 ..< pass.images {
            for c in 0 ..< inShape.channels {
                for oy in 0 ..< outShape.height {
                    let g = dy.data! + n * dy.image + (c + before) * dy.plane + oy * dy.row
                    let row = dx.data! + n * dx.image + c * dx.plane + oy * stride * dx.row
                    for ox in 0 ..< outShape.width { row[ox * stride] += g[ox] }
                }
            }
        }
    }
}

/// Sets the interior of a view to zero (the border is zero by construction).
func zeroInterior(_ view: ck_view, images: Int, shape: TensorShape) {
    for n in 0 ..< images {
        for c in 0 ..< shape.channels {
            for r in 0 ..< shape.height {
                (view.data! + n * view.image + c * view.plane + r * view.row).update(repeating: 0, count: shape.width)
            }
        }
    }
}

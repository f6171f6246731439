// Graph networks (from=, add, concat) for the whole-network tests of NetworkTests: residual blocks, concat of
// the input, a tensor read three times, an add of a tensor with itself, a skip over a whole stage, the input
// read by two layers, and every layer kind as a reader that adds to a gradient another reader wrote first.

extension NetworkTests {
    static let graphCases: [NetworkCase] =
        [
            // A residual block on features: out = relu(x + fc2(relu(fc1(x)))).
            NetworkCase(input: [3, 6], body: "affine fc1 out=6\nrelu r1\naffine fc2 out=6\nadd s from=fc2,x\nrelu\naffine out out=3"),
            // Concatenation with the input along channels, then a 1×1 conv over both.
            NetworkCase(
                input: [2, 2, 4, 4], body: "conv c1 filters=3 size=3 pad=1\nconcat j from=x,c1\nconv c2 filters=2 size=1\naffine fc out=3"),
            // One tensor read three times, merged by a three-way add.
            NetworkCase(
                input: [2, 5], body: "affine a out=4\nrelu r1 from=a\ntanh t1 from=a\nsigmoid s1 from=a\nadd m from=r1,t1,s1\naffine out=3"),
            // An add of a layer's output with itself (its gradient is twice the output gradient).
            NetworkCase(input: [2, 5], body: "affine a out=4\nadd d from=a,a\naffine out=3"),
            // A concat of a tensor with itself, on features.
            NetworkCase(input: [3, 4], body: "affine a out=3\nconcat d from=a,a\nbatchnorm bn\naffine out=2"),
            // A skip across a whole stage of three convs with batchnorm.
            NetworkCase(
                input: [2, 2, 6, 6],
                body: "conv c1 filters=4 size=3 pad=1\nbatchnorm b1\nrelu r1\nconv c2 filters=4 size=3 pad=1\nbatchnorm b2\nrelu r2\n"
                    + "conv c3 filters=4 size=3 pad=1\nadd skip from=c3,r1\nmaxpool p size=2\naffine fc out=3"),
            // The network input read by two layers (its gradient is the sum of both).
            NetworkCase(input: [3, 5], body: "affine a out=3\naffine b out=3 from=x\nadd s from=a,b"),
            // A projection shortcut, as in a ResNet stage that changes the shape.
            NetworkCase(
                input: [2, 2, 7, 7],
                body: "conv c1 filters=3 size=3 stride=2 pad=1\nbatchnorm b1\nrelu r1\nconv c2 filters=3 size=3 pad=1\n"
                    + "conv proj filters=3 size=1 stride=2 from=x\nadd s from=c2,proj\nrelu\naffine fc out=2"),
        ] + accumulatingReaders

    /// Each layer kind reading a tensor (c0) whose gradient a later reader (h2, which runs first in backward)
    /// writes: the kind's kernel adds its dx to it (DX_ACCUMULATE 1).
    static let accumulatingReaders: [NetworkCase] = [
        "affine k out=5", "affine k out=5 bias=false", "relu k", "leakyrelu k slope=0.1", "gelu k", "avgpool k size=3 stride=2 pad=1",
        "globalavgpool k", "conv k filters=4 size=3 pad=1 groups=2 bias=false", "sigmoid k", "tanh k", "batchnorm k", "layernorm k",
        "groupnorm k groups=2",
        "dropout k keep=1", "maxpool k size=2", "conv k filters=2 size=3 stride=2 pad=1", "add k from=c0,c0",
        "concat k from=c0,c0",
    ].map { line in
        let from = line.contains("from=") ? "" : " from=c0"
        return NetworkCase(
            input: [2, 2, 4, 4],
            body: "conv c0 filters=4 size=3 pad=1\n\(line)\(from)\naffine h1 out=3 from=k\naffine h2 out=3 from=c0\nadd s from=h1,h2")
    }

    static let allCases = cases + graphCases
}

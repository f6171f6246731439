// dropout: inverted dropout with a counter-based random mask, reproducible from the step's seed.

extension LayerDefinition {
    /// `dropout NAME keep=P`, 0 < P ≤ 1: any shape to the same shape.
    ///
    /// Training mode keeps element i with probability P and scales what it keeps by 1/P (inverted dropout, so
    /// test mode is the identity):
    /// ```
    /// key  = splitmix64_mix(rng ⊕ SALT)                                  SALT = dropoutSalt(layer name)
    /// u_i  = (splitmix64_mix(key + (i + 1)·0x9E3779B97F4A7C15) >> 11) · 2⁻⁵³     uniform in [0, 1)
    /// mask_i = u_i < P ? 1 : 0,      out_i = x_i · mask_i / P,      dx_i = dout_i · mask_i / P
    /// ```
    /// u_i is the i-th output of a splitmix64 generator seeded with `key`: a pure function of the forward's
    /// `rng` argument, the layer and the element index, so a run is reproducible and each step (each seed)
    /// draws a fresh mask. The mask is saved for backward (`S_MASK`), because backward has no `rng` argument
    /// and re-deriving it would tie backward to the forward's seed; it costs one element per activation.
    public static let dropout = LayerDefinition(
        keyword: "dropout",
        summary: "inverted dropout: training keeps each element with probability keep and scales it by 1/keep",
        attributes: [
            AttributeSpec("keep", .real(min: 0, max: 1, openMin: true), "probability P of keeping an element, 0 < P ≤ 1")
        ],
        template: "dropout",
        instantiate: { context in
            let count = context.input.count
            let salt = LayerDefinition.dropoutSalt(context.name)
            return LayerInstance(
                output: context.input,
                saved: [SavedSpec("mask", count: count)],
                constants: [
                    TemplateConstant("COUNT", count, "elements"),
                    .real("KEEP", context.attributes.double("keep"), "probability of keeping an element"),
                    TemplateConstant(
                        "SALT", "0x" + String(salt, radix: 16, uppercase: true) + "ULL",
                        "random stream of this layer: FNV-1a hash of its name"),
                ],
                forwardFLOPs: 2 * count)
        })

    /// The per-layer constant mixed into a dropout layer's random numbers: the 64-bit FNV-1a hash of the
    /// layer name's UTF-8 bytes, so two dropout layers of one network draw independent masks.
    public static func dropoutSalt(_ layerName: String) -> UInt64 {
        stableHash(layerName)
    }
}

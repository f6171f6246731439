# layers.awk — reads a generated <model>.h and writes the table bench/kernels/driver.c includes:
# the model's sizes, and BENCH_LAYERS: LAYER(name, kind, input offset, N, D, M) per layer in forward order.
# Run as: awk -v model=<model> -f layers.awk <model>.h > layers.h
function count(shape,    parts, k, total) {
    gsub(/[\[\] ]/, "", shape)
    split(shape, parts, ",")
    total = 1
    for (k in parts) total *= parts[k]
    return total
}
function first(shape,    parts) {
    gsub(/[\[\] ]/, "", shape)
    split(shape, parts, ",")
    return parts[1]
}
BEGIN { upper = toupper(model); previous = -1; real = "float" }
# A graph's layer table has a "from" column: its layers read other layers than the one before them (and
# add/concat read several), which the driver's one-input chain cannot call. Refuse it instead of crashing.
/^ \*   layer +kind +from / {
    print "bench/kernels: model '" model "' is a graph (from=, add, concat); this driver times chains only. " \
          "Use: nngen bench SPEC (every kernel alone and in the step)" > "/dev/stderr"
    refused = 1
    exit 1
}
$1 == "#define" && $2 == upper "_MEM_SIZE" { print "#define BENCH_MEM_SIZE " $3 }
$1 == "#define" && $2 == upper "_INPUT_SIZE" { print "#define BENCH_INPUT_SIZE " $3 }
$1 == "#define" && $2 == upper "_OUTPUT_SIZE" { print "#define BENCH_OUTPUT_SIZE " $3 }
$1 == "#define" && $2 == upper "_BATCH" { print "#define BENCH_BATCH " $3 }
/Targets \(the `target` argument\): int32_t class ids/ { print "#define BENCH_CLASS_TARGETS 1" }
/^double .*_forward\(double \*mem/ { real = "double" }
$1 == "#define" && $2 ~ /_OUTPUT$/ && $6 == "output" { output[$5] = $3 }
/^void .*_forward\(.*\);  \/\* / {
    name = $0
    sub(/^void /, "", name)
    sub(/_forward\(.*/, "", name)
    name = substr(name, length(model) + 2)
    comment = $0
    sub(/.*\/\* /, "", comment)
    kind = comment
    sub(/ .*/, "", kind)
    shapes = comment
    sub(/^[^\[]*/, "", shapes)
    input = shapes
    sub(/\].*/, "]", input)
    out = shapes
    sub(/.*→ /, "", out)
    sub(/\].*/, "]", out)
    n = first(input)
    table = table sprintf(" \\\n    LAYER(%s, \"%s\", %d, %d, %d, %d)", name, kind, previous, n, count(input) / n, count(out) / n)
    previous = output[name]
}
END {
    if (refused) exit 1
    print "typedef " real " bench_real;"
    print "#define BENCH_LAYERS" table
}

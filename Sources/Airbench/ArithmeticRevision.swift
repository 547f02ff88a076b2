/// Which arithmetic this code performs: a number raised by every change that alters the bits a run produces on the
/// same instruction path, precision and convolution plan (a kernel's summation order, BatchNorm, the loss, the
/// optimizer, the initialisation, the loader's randomness). `train --log` and every sweep result record it beside
/// the path, precision and plan: two runs of one seed give the same bits only when all four agree. The program
/// version does not say it (it stayed 0.1.0 through every such change).
///
/// `ModelHashTests` holds the revision its hashes were recorded at and fails when its fp32 hashes change without
/// this number changing with them.
///
/// - 1: since 357e9bb (2026-12-06), when the Winograd weight gradient began to sum its tiles in two segments where
///   its sums take under 4 MiB. Results written before revisions were recorded (2026-12-07) carry none; the
///   known-answers and bf16-accuracy studies' (docs/studies) also predate 357e9bb, so this code re-runs their seeds
///   to other bits.
public enum ArithmeticRevision {
    public static let current = 1
}

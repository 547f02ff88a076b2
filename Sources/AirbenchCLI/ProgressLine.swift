import Airbench
import Foundation

/// Tells the user where a long run is between the per-epoch rows. On a terminal one status line is redrawn
/// after every step (step, images/s, time left in the epoch and in the run's training); when standard output
/// is a file or a pipe (a Slurm log, `| tee`) a plain line is printed every `interval` seconds instead.
final class ProgressLine {
    let terminal: Bool
    let interval: Double
    private var shown = false
    private var lastPrinted = -Double.infinity
    /// The run `lastPrinted` belongs to: each run's clock starts at 0 again.
    private var lastRun: Int?

    init(terminal: Bool = isatty(STDOUT_FILENO) != 0, interval: Double = 30) {
        self.terminal = terminal
        self.interval = interval
    }

    func update(run: Int, _ p: StepProgress) {
        if !terminal {
            // Without this, a later run printed nothing until its clock passed the previous run's last line
            // (flaky in CommandLineTests when the second run was the faster one).
            if run != lastRun { (lastRun, lastPrinted) = (run, -Double.infinity) }
            guard p.timeSeconds - lastPrinted >= interval else { return }
            lastPrinted = p.timeSeconds
        }
        let text = Self.describe(run: run, p)
        if terminal {
            print("\r\u{1B}[K" + text, terminator: "")
            shown = true
        } else {
            print("progress: " + text)
        }
        fflush(nil)
    }

    /// Clears the status line before a table row is printed.
    func clear() {
        guard shown else { return }
        print("\r\u{1B}[K", terminator: "")
        shown = false
    }

    /// "run 0 epoch 3 step 12/48, 1,024 images/s, epoch 37 s left, training 6.1 min left"
    static func describe(run: Int, _ p: StepProgress) -> String {
        let perStep = p.epochSeconds / Double(p.stepInEpoch)
        let epochLeft = perStep * Double(min(p.stepsPerEpoch, p.totalSteps - p.step + p.stepInEpoch) - p.stepInEpoch)
        let runLeft = perStep * Double(p.totalSteps - p.step)
        let rate = Double(p.batchSize) / perStep
        return "run \(run) epoch \(p.epoch) step \(p.stepInEpoch)/\(p.stepsPerEpoch) (\(p.step)/\(p.totalSteps) in all), "
            + "\(Int(rate.rounded())) images/s, epoch \(duration(epochLeft)) left, training \(duration(runLeft)) left"
    }

    /// "37 s", "6.1 min" or, from two hours, "19.8 h".
    static func duration(_ seconds: Double) -> String {
        seconds < 120 ? "\(Int(seconds.rounded())) s"
            : seconds < 7200 ? String(format: "%.1f min", seconds / 60) : String(format: "%.1f h", seconds / 3600)
    }
}

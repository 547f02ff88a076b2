import Airbench
import Foundation

/// Mean and sample standard deviation (n − 1; 0 for one value), as `torch.std`.
func meanAndStd(_ values: [Double]) -> (Double, Double) {
    let mean = values.reduce(0, +) / Double(values.count)
    guard values.count > 1 else { return (mean, 0) }
    let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count - 1)
    return (mean, variance.squareRoot())
}

/// The paper's per-epoch table (Listing 4 `print_training_details`).
final class EpochTable {
    let columns = ["run", "epoch", "train_loss", "train_acc", "val_acc", "tta_val_acc", "time_seconds"]

    func line(_ cells: [String]) -> String {
        zip(cells, columns).map { "| " + String(repeating: " ", count: max(0, $1.count - $0.count)) + $0 + " " }
            .joined() + "|"
    }

    func printHeader() {
        let header = line(columns)
        print(String(repeating: "-", count: header.count))
        print(header)
        print(String(repeating: "-", count: header.count))
        fflush(nil)
    }

    func printRow(run: Int, _ r: EpochRecord) {
        func number(_ x: Double?) -> String { x.map { String(format: "%.4f", $0) } ?? "" }
        let final = r.epoch == nil
        let row = line([final || r.epoch == 0 ? "\(run)" : "", r.epoch.map(String.init) ?? "eval", number(r.trainLoss),
                        number(r.trainAccuracy), number(r.validationAccuracy), number(r.ttaValidationAccuracy),
                        number(r.timeSeconds)])
        print(row)
        if final { print(String(repeating: "-", count: row.count)) }
        fflush(nil)
    }
}

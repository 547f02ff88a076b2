import ArgumentParser

/// `airbench`: train and evaluate the airbench CIFAR-10 methods natively on the CPU.
@main
struct AirbenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "airbench",
        abstract: "Fast CIFAR-10 training (Keller Jordan's airbench family of methods) in Swift on the CPU.",
        version: "0.1.0",
        subcommands: [TrainCommand.self, Train94Command.self, MethodsCommand.self, EvalCommand.self, BenchCommand.self,
                      SweepCommand.self, CollectCommand.self, CompareCommand.self, ReportCommand.self])
}

import AirbenchKernels
import Foundation
import XCTest

/// `CPUModel`: the first processor's model name with its family, model and stepping, from `/proc/cpuinfo` text.
final class CPUModelTests: XCTestCase {
    /// Two processors as a 2-core KVM guest lists them (the second named differently here, to show that only the
    /// first is read), in the `key<TAB>: value` layout of `/proc/cpuinfo`.
    func testTheFirstProcessorsNameAndNumbers() {
        let text = """
            processor\t: 0
            vendor_id\t: AuthenticAMD
            cpu family\t: 25
            model\t\t: 17
            model name\t: AMD EPYC
            stepping\t: 1
            flags\t\t: fpu avx2 avx512f

            processor\t: 1
            vendor_id\t: AuthenticAMD
            cpu family\t: 26
            model\t\t: 2
            model name\t: Other
            stepping\t: 0

            """
        XCTAssertEqual(CPUModel.describe(cpuinfo: text), "AMD EPYC (family 25, model 17, stepping 1)")
    }

    /// A name without numbers is the name alone; no name (as on CPUs whose kernel lists none) or no file: "unknown".
    func testMissingFields() {
        XCTAssertEqual(CPUModel.describe(cpuinfo: "processor\t: 0\nmodel name\t: Some CPU @ 2.0GHz\n"), "Some CPU @ 2.0GHz")
        XCTAssertEqual(CPUModel.describe(cpuinfo: "processor\t: 0\nBogoMIPS\t: 50.00\nCPU part\t: 0xd0c\n"), "unknown")
        XCTAssertEqual(CPUModel.describe(cpuinfo: ""), "unknown")
        XCTAssertEqual(CPUModel.describe(cpuinfo: nil), "unknown")
    }

    /// This machine: the name `/proc/cpuinfo`'s first "model name" line gives, read here by hand.
    func testThisMachine() throws {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { throw XCTSkip("no /proc/cpuinfo") }
        guard let line = text.components(separatedBy: "\n").first(where: { $0.hasPrefix("model name") }) else {
            return XCTAssertEqual(CPUModel.current, "unknown")
        }
        let name = line.components(separatedBy: ": ").dropFirst().joined(separator: ": ")
        XCTAssertTrue(CPUModel.current.hasPrefix(name), "\(CPUModel.current) does not start with \(name)")
        if text.contains("cpu family") { XCTAssertNotEqual(CPUModel.current, name, "family and model numbers missing") }
    }
}

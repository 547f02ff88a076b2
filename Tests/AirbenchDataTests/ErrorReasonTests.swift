import AirbenchFormats
import Foundation
import XCTest

/// The wording of file-system and JSON errors: the path, what was being done, and the system's reason, never
/// Foundation's generic sentence or an NSError dump.
final class ErrorReasonTests: XCTestCase {
    /// The message of the `FormatError` `body` throws, failing the test when it throws none or another kind.
    func fileSystemMessage(_ body: () throws -> Void, file: StaticString = #filePath, line: UInt = #line) -> String {
        do { try body() } catch let error as FormatError {
            guard case .fileSystem = error.kind else { XCTFail("\(error)", file: file, line: line); return "" }
            XCTAssertFalse("\(error)".contains("Domain"), "\(error)", file: file, line: line)
            return "\(error)"
        } catch { XCTFail("not a FormatError: \(error)", file: file, line: line) }
        XCTFail("nothing thrown", file: file, line: line)
        return ""
    }

    func testReadingSaysWhichFileAndWhy() throws {
        let folder = try makeTemporaryFolder()
        let missing = folder.appendingPathComponent("missing.bin")
        XCTAssertEqual(fileSystemMessage { _ = try readFile(missing) }, "\(missing.path): cannot read: no such file or directory")
        XCTAssertEqual(fileSystemMessage { _ = try readFile(folder) }, "\(folder.path): cannot read: is a directory")
        // Foundation reports a device as "permission denied", even to root.
        XCTAssertEqual(fileSystemMessage { _ = try readFile(URL(fileURLWithPath: "/dev/null")) },
                       "/dev/null: cannot read: not a regular file")
        let present = folder.appendingPathComponent("present.bin")
        try Data([1, 2, 3]).write(to: present)
        XCTAssertEqual(try readFile(present), Data([1, 2, 3]))
    }

    func testCreatingAFolderSaysWhatIsInTheWay() throws {
        let folder = try makeTemporaryFolder()
        let file = folder.appendingPathComponent("a-file")
        try Data().write(to: file)
        XCTAssertEqual(fileSystemMessage { try createFolder(file) }, "\(file.path): cannot create the folder: file exists")
        let below = file.appendingPathComponent("below")
        XCTAssertEqual(fileSystemMessage { try createFolder(below) }, "\(below.path): cannot create the folder: not a directory")
        let nested = folder.appendingPathComponent("x/y/z")
        try createFolder(nested)
        try createFolder(nested)  // already there: nothing happens
        var isFolder: ObjCBool = false
        XCTAssertTrue(FileManager.default.fileExists(atPath: nested.path, isDirectory: &isFolder) && isFolder.boolValue)
    }

    func testFileSystemReasonUnwrapsThePOSIXError() {
        XCTAssertEqual(fileSystemReason(POSIXError(.EACCES)), "permission denied")
        XCTAssertEqual(fileSystemReason(CocoaError(.fileReadNoSuchFile, userInfo: [NSUnderlyingErrorKey: POSIXError(.ENOENT)])),
                       "no such file or directory")
        // "permission denied" on a device is Foundation refusing what is not a regular file; on a file it stands.
        func denied(_ path: String) -> CocoaError {
            CocoaError(.fileReadNoPermission, userInfo: [NSFilePathErrorKey: path, NSUnderlyingErrorKey: POSIXError(.EACCES)])
        }
        XCTAssertEqual(fileSystemReason(denied("/dev/null")), "not a regular file")
        XCTAssertEqual(fileSystemReason(denied("/etc/passwd")), "permission denied")
    }

    struct Inner: Decodable { var value: Double }
    struct Outer: Decodable { var schema: String; var runs: [Inner] }

    func reason(_ json: String) -> String {
        do { _ = try JSONDecoder().decode(Outer.self, from: Data(json.utf8)) } catch { return decodingReason(error) }
        XCTFail("decoded: \(json)")
        return ""
    }

    func testDecodingReasonNamesTheFieldByItsPath() {
        XCTAssertEqual(reason(#"{"runs": []}"#), "'schema' is missing")
        XCTAssertEqual(reason(#"{"schema": 3, "runs": []}"#), "'schema' needs a value of type String")
        XCTAssertEqual(reason(#"{"schema": "s", "runs": [{"value": 1}, {"value": "x"}]}"#),
                       "'runs[1].value' needs a value of type Double")
        XCTAssertEqual(reason(#"{"schema": "s", "runs": [{"value": null}]}"#), "'runs[0].value' needs a value of type Double")
        XCTAssertEqual(reason(#"{"schema": "s", "runs": [{}]}"#), "'runs[0].value' is missing")
        XCTAssertEqual(reason("{not json"), "not valid JSON")
    }
}

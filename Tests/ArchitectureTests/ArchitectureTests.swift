import Foundation
import Testing

/// Keeps docs/ARCHITECTURE.md and the code in step: the module graph drawn there is the one
/// Package.swift declares, every `import` is a declared dependency and every dependency is
/// imported, and every file the page names exists. Reads the files of this checkout.
@Suite("architecture: Package.swift, the imports and docs/ARCHITECTURE.md agree")
struct ArchitectureTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// Modules of the toolchain and the system, which need no declaration.
    static let toolchain: Set<String> = ["Foundation", "FoundationEssentials", "FoundationXML", "Glibc", "Darwin", "Dispatch",
                                         "Synchronization", "Testing", "XCTest", "_Concurrency"]

    struct Target {
        let name: String
        let kind: String
        let dependencies: Set<String>
        let path: String
    }

    /// The targets of Package.swift, read from its text: `.target(name: …, dependencies: […], path: …)`.
    static func targets() throws -> [Target] {
        let text = try String(contentsOf: root.appendingPathComponent("Package.swift"), encoding: .utf8)
        var targets: [Target] = []
        for kind in ["target", "executableTarget", "testTarget", "systemLibrary"] {
            var rest = text[...]
            while let start = rest.range(of: ".\(kind)(") {
                let body = balanced(rest[start.upperBound...], open: "(", close: ")")
                rest = rest[body.endIndex...]
                let name = try #require(body.firstMatch(of: /name: "([^"]+)"/)?.1).description
                var dependencies = Set<String>()
                if let list = body.range(of: "dependencies: [") {
                    var items = String(balanced(body[list.upperBound...], open: "[", close: "]"))
                    for product in items.matches(of: /\.product\(name: "([^"]+)"[^)]*\)/) { dependencies.insert(String(product.1)) }
                    items = items.replacing(/\.product\([^)]*\)/, with: "")
                    for item in items.matches(of: /"([^"]+)"/) { dependencies.insert(String(item.1)) }
                }
                let path = body.firstMatch(of: /path: "([^"]+)"/).map { String($0.1) }
                    ?? (kind == "testTarget" ? "Tests/\(name)" : "Sources/\(name)")
                targets.append(Target(name: name, kind: kind, dependencies: dependencies, path: path))
            }
        }
        return targets
    }

    /// The text from just after an opening bracket to its matching closing bracket.
    static func balanced(_ text: Substring, open: Character, close: Character) -> Substring {
        var depth = 1
        var index = text.startIndex
        while index < text.endIndex {
            if text[index] == open { depth += 1 }
            if text[index] == close { depth -= 1; if depth == 0 { break } }
            index = text.index(after: index)
        }
        return text[text.startIndex ..< index]
    }

    /// The modules the Swift files under `path` import.
    static func imports(under path: String) throws -> Set<String> {
        let directory = root.appendingPathComponent(path)
        guard let files = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: nil) else { return [] }
        var modules = Set<String>()
        for case let file as URL in files where file.pathExtension == "swift" {
            // Imports start a line (an indented "import" is inside a string, e.g. Python code).
            for line in try String(contentsOf: file, encoding: .utf8).split(separator: "\n")
            where line.hasPrefix("import ") || line.hasPrefix("@") {
                if let match = line.firstMatch(of: /^(?:@\w+(?:\([^)]*\))?\s+)*import\s+(?:(?:struct|class|enum|protocol|func|var|typealias)\s+)?(\w+)/) {
                    modules.insert(String(match.1))
                }
            }
        }
        return modules
    }

    @Test("every import is a declared dependency, and every declared dependency is imported")
    func importsMatchDependencies() throws {
        let targets = try Self.targets()
        #expect(targets.count > 15, "Package.swift was read: \(targets.map(\.name))")
        let executables = Set(targets.filter { $0.kind == "executableTarget" }.map(\.name))
        for target in targets where target.kind != "systemLibrary" {
            let imported = try Self.imports(under: target.path)
            let undeclared = imported.subtracting(target.dependencies).subtracting(Self.toolchain).subtracting([target.name])
            #expect(undeclared.isEmpty, "\(target.name) (\(target.path)) imports \(undeclared.sorted()) without declaring them in Package.swift")
            // (A test target may depend on the executable to have it built: it runs it.)
            let unused = target.dependencies.subtracting(imported).subtracting(executables)
            #expect(unused.isEmpty, "\(target.name) declares \(unused.sorted()) but imports none of them")
        }
    }

    @Test("the module graph in docs/ARCHITECTURE.md is the one Package.swift declares")
    func graphMatchesPackage() throws {
        let page = try String(contentsOf: Self.root.appendingPathComponent("docs/ARCHITECTURE.md"), encoding: .utf8)
        let block = try #require(page.firstMatch(of: /```mermaid\n([\s\S]*?)```/)?.1)
        let drawn = Set(block.matches(of: /([\w-]+) --> ([\w-]+)/).map { "\($0.1) -> \($0.2)" })
        let declared = Set(try Self.targets().filter { !$0.path.hasPrefix("Tests/") }
            .flatMap { target in target.dependencies.map { "\(target.name) -> \($0)" } })
        #expect(drawn.subtracting(declared).isEmpty, "drawn but not declared: \(drawn.subtracting(declared).sorted())")
        #expect(declared.subtracting(drawn).isEmpty, "declared but not drawn: \(declared.subtracting(drawn).sorted())")
    }

    @Test("docs/ARCHITECTURE.md describes every module and names only files that exist")
    func pageIsCurrent() throws {
        let page = try String(contentsOf: Self.root.appendingPathComponent("docs/ARCHITECTURE.md"), encoding: .utf8)
        for target in try Self.targets() where target.kind == "target" || target.kind == "executableTarget" {
            guard target.name != "TestSupport" && target.name != "CKernels" else { continue }
            #expect(page.contains("| `\(target.name)` |"), "docs/ARCHITECTURE.md has no row for \(target.name)")
        }
        for match in page.matches(of: /`((?:Sources|Tests)\/[\w.\/-]+)`/) {
            let path = String(match.1)
            #expect(FileManager.default.fileExists(atPath: Self.root.appendingPathComponent(path).path),
                    "docs/ARCHITECTURE.md names \(path), which does not exist")
        }
    }
}

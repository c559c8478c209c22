import ArgumentParser
import Foundation
import SampleData

/// `pinpipe generate`: the deterministic sample data set, as CSV (for `COPY`), JSON Lines, or an S3 sink layout.
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Writes the deterministic sample data set (the three Pinterest tables).",
        discussion: """
            --format csv|jsonl writes one table (--table) to --out or standard output; csv is PostgreSQL's \
            COPY ... (FORMAT csv) without a header. --format s3 writes all three tables under --out in the \
            S3 sink layout: DIR/topics/<prefix>.pin/partition=0/<prefix>.pin+0+0000000000.json, \
            --records-per-object records per object.
            """)

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case csv, jsonl, s3
    }

    enum Table: String, ExpressibleByArgument, CaseIterable {
        case pin, geo, user
    }

    @Option(help: "Rows per table (keys 0..<rows).")
    var rows: Int = SampleDataGenerator.defaultRows

    @Option(help: "Seed of the generator.")
    var seed: UInt64 = SampleDataGenerator.defaultSeed

    @Option(help: "csv, jsonl or s3.")
    var format: Format = .csv

    @Option(help: "pin, geo or user (for csv and jsonl).")
    var table: Table?

    @Option(help: "Output file (csv, jsonl; default standard output) or directory (s3, required).")
    var out: String?

    @Option(help: "Topic prefix for --format s3.")
    var prefix: String = "0ab336d6fcf7"

    @Option(help: "Records per object for --format s3.")
    var recordsPerObject: Int = 10_000

    func validate() throws {
        guard rows >= 0 else { throw ValidationError("--rows must not be negative") }
        guard recordsPerObject > 0 else { throw ValidationError("--records-per-object must be positive") }
        switch format {
        case .csv, .jsonl:
            guard table != nil else { throw ValidationError("--format \(format.rawValue) needs --table pin|geo|user") }
        case .s3:
            guard out != nil else { throw ValidationError("--format s3 needs --out DIR") }
        }
    }

    func run() throws {
        let generator = SampleDataGenerator(seed: seed, rows: rows)
        switch format {
        case .s3:
            let layout = SampleS3Layout(topicPrefix: prefix, recordsPerObject: recordsPerObject)
            try layout.write(generator, to: URL(fileURLWithPath: out ?? "."))
        case .csv, .jsonl:
            let sampleTable = SampleTable(rawValue: (table ?? .pin).rawValue) ?? .pin
            let sampleFormat: SampleFormat = format == .csv ? .csv : .jsonLines
            let output: FileHandle
            if let out {
                guard FileManager.default.createFile(atPath: out, contents: nil) else {
                    throw ValidationError("cannot create \(out)")
                }
                guard let handle = FileHandle(forWritingAtPath: out) else {
                    throw ValidationError("cannot open \(out) for writing")
                }
                output = handle
            } else {
                output = FileHandle.standardOutput
            }
            defer { if out != nil { try? output.close() } }
            try generator.write(sampleTable, format: sampleFormat) { chunk in
                try output.write(contentsOf: Data(buffer: chunk))
            }
        }
    }
}

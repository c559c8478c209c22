import Foundation
import Testing

@testable import SampleData

/// The default data set (11,153 rows, seed 100), generated once for the statistical tests.
private enum DefaultData {
    static let generator = SampleDataGenerator()
    static let pins = Array(generator.pins)
    static let geos = Array(generator.geos)
    static let users = Array(generator.users)
}

@Suite struct SampleDataGeneratorTests {
    @Test func columnsInTableOrder() {
        #expect(SampleTable.pin.tableName == "pinterest_data")
        #expect(SampleTable.pin.columns == [
            "index", "unique_id", "title", "description", "poster_name", "follower_count", "tag_list",
            "is_image_or_video", "image_src", "downloaded", "save_location", "category",
        ])
        #expect(SampleTable.geo.columns == ["ind", "timestamp", "latitude", "longitude", "country"])
        #expect(SampleTable.user.columns == ["ind", "first_name", "last_name", "age", "date_joined"])
        #expect(SampleTable.geo.topic(prefix: "0ab336d6fcf7") == "0ab336d6fcf7.geo")
    }

    @Test func jsonKeysFollowTableOrderAndParse() throws {
        let g = SampleDataGenerator(rows: 50)
        for key in g.keys {
            for (table, text) in [(SampleTable.pin, g.pin(at: key).jsonText), (.geo, g.geo(at: key).jsonText),
                                  (.user, g.user(at: key).jsonText)] {
                let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
                #expect(Set(object.keys) == Set(table.columns))
                let positions = table.columns.compactMap { text.range(of: "\"\($0)\":")?.lowerBound }
                #expect(positions.count == table.columns.count && positions == positions.sorted(), "\(text)")
                #expect((object[table.keyColumn] as? Int) == key)
                #expect(!text.contains("\n") && !text.contains("\": ") && !text.contains(", \""), "not compact: \(text)")
            }
        }
        let geo = try #require(try JSONSerialization.jsonObject(with: Data(g.geo(at: 3).jsonText.utf8)) as? [String: Any])
        #expect(geo["latitude"] is Double && geo["timestamp"] is String)
        #expect((geo["timestamp"] as? String)?.contains("T") == true)
    }

    @Test func csvRecordsRoundTripToTheRows() {
        let g = SampleDataGenerator(rows: 2_000)
        var buffer = SampleOutputBuffer()
        g.append(.pin, keys: g.keys, format: .csv, to: &buffer)
        let records = CSVReader.records(String(decoding: buffer.bytes, as: UTF8.self))
        #expect(records.count == g.rows)
        for (key, record) in records.enumerated() {
            let p = g.pin(at: key)
            let expected: [String?] = [
                String(key), p.uniqueID, p.title, p.description, p.posterName, p.followerCount, p.tagList,
                p.isImageOrVideo, p.imageSource, String(p.downloaded), p.saveLocation, p.category,
            ]
            #expect(record == expected)
        }
        // The sample must exercise the quoting rules it claims to handle.
        let text = String(decoding: buffer.bytes, as: UTF8.self)
        #expect(text.contains("\"\""))
        #expect(g.pins.contains { $0.description.contains("\n") })

        var geoBuffer = SampleOutputBuffer()
        g.append(.geo, keys: 0..<100, format: .csv, to: &geoBuffer)
        for (key, record) in CSVReader.records(String(decoding: geoBuffer.bytes, as: UTF8.self)).enumerated() {
            let row = g.geo(at: key)
            #expect(record[1] == row.timestamp.description)
            #expect(record[2].flatMap(Double.init) == row.latitude)
            #expect(record[3].flatMap(Double.init) == row.longitude)
            #expect(record[4] == row.country)
        }
    }

    @Test func keysAreZeroToNMinusOneInEveryTable() {
        let g = SampleDataGenerator(seed: 5, rows: 1_234)
        #expect(g.pins.map(\.index) == Array(0..<1_234))
        #expect(g.geos.map(\.ind) == Array(0..<1_234))
        #expect(g.users.map(\.ind) == Array(0..<1_234))
        #expect(DefaultData.pins.count == 11_153)
        var lines = 0
        g.write(.user, format: .jsonLines, chunkRows: 100) { chunk in lines += chunk.filter { $0 == 0x0A }.count }
        #expect(lines == 1_234)
    }

    @Test func deterministicPerSeedAndPrefixStable() {
        func bytes(_ g: SampleDataGenerator, _ table: SampleTable) -> [UInt8] {
            var b = SampleOutputBuffer()
            g.append(table, keys: g.keys, format: .csv, to: &b)
            return b.bytes
        }
        for table in SampleTable.allCases {
            let a = bytes(SampleDataGenerator(seed: 100, rows: 500), table)
            #expect(a == bytes(SampleDataGenerator(seed: 100, rows: 500), table))
            #expect(a != bytes(SampleDataGenerator(seed: 101, rows: 500), table))
            // Rows depend only on (seed, key): a bigger data set starts with the smaller one.
            #expect(Array(bytes(SampleDataGenerator(seed: 100, rows: 800), table).prefix(a.count)) == a)
        }
    }

    @Test func allThirteenCategoriesWithTheirSaveLocations() {
        let categories = Set(DefaultData.pins.map(\.category))
        #expect(categories == Set([
            "art", "beauty", "christmas", "diy-and-crafts", "education", "event-planning", "finance",
            "home-decor", "mens-fashion", "quotes", "tattoos", "travel", "vehicles",
        ]))
        #expect(DefaultData.pins.allSatisfy { $0.saveLocation == "Local save in /data/\($0.category)" })
    }

    @Test func followerCountsLookLikeTheSource() throws {
        let counts = DefaultData.pins.map(\.followerCount)
        let n = Double(counts.count)
        let error = Double(counts.filter { $0 == "User Info Error" }.count) / n
        let k = Double(counts.filter { $0.hasSuffix("k") }.count) / n
        let m = Double(counts.filter { $0.hasSuffix("M") }.count) / n
        let plain = Double(counts.filter { Int($0) != nil }.count) / n
        #expect(abs(k - 0.74) < 0.03, "k share \(k)")
        #expect(abs(plain - 0.17) < 0.03, "plain share \(plain)")
        #expect(abs(m - 0.07) < 0.02, "M share \(m)")
        #expect(abs(error - 0.015) < 0.007, "error share \(error)")
        #expect(abs(error + k + m + plain - 1) < 1e-9)
        let values = counts.compactMap(FollowerCount.parse)
        let maximum = try #require(values.max())
        #expect(maximum <= 15_000_000 && maximum >= 5_000_000)
        #expect(values.min() ?? -1 >= 0)
        // Whole numbers of k and M only.
        #expect(counts.allSatisfy { $0 == "User Info Error" || $0.wholeMatch(of: /[0-9]+[kM]?/) != nil })
        // The user info error comes as a pair.
        #expect(DefaultData.pins.allSatisfy { ($0.followerCount == "User Info Error") == ($0.posterName == "User Info Error") })
    }

    @Test func placeholdersAppearAtPlausibleRates() {
        let pins = DefaultData.pins
        let n = Double(pins.count)
        func share(_ predicate: (PinRow) -> Bool) -> Double { Double(pins.filter(predicate).count) / n }
        #expect((0.005...0.06).contains(share { $0.title == "No Title Data Available" }))
        #expect((0.02...0.08).contains(share { $0.description == "No description available Story format" }))
        #expect((0.005...0.03).contains(share { $0.description == "No description available" }))
        #expect(share { $0.description == "Untitled" } > 0)
        #expect(share { $0.description == "Art." } > 0)
        #expect((0.01...0.06).contains(share { $0.tagList == "N,o, ,T,a,g,s, ,A,v,a,i,l,a,b,l,e" }))
        #expect((0.005...0.05).contains(share { $0.imageSource == "Image src error." }))
        // Empty strings appear in text columns, rarely.
        for column: KeyPath<PinRow, String> in [\.title, \.description, \.tagList, \.posterName] {
            #expect((0.0005...0.02).contains(share { $0[keyPath: column].isEmpty }))
        }
        // Story pages often carry the description placeholder and were not downloaded.
        let stories = pins.filter { $0.isImageOrVideo == "multi-video(story page format)" }
        let storyPlaceholder = Double(stories.filter { $0.description == "No description available Story format" }.count)
        #expect(storyPlaceholder / Double(stories.count) > 0.4)
        #expect(pins.filter { $0.description == "No description available Story format" }.allSatisfy { $0.downloaded == 0 })
        #expect(pins.allSatisfy { $0.downloaded == 0 || $0.downloaded == 1 })
        #expect(pins.filter { $0.imageSource == "Image src error." }.allSatisfy { $0.downloaded == 0 })
        #expect(pins.allSatisfy { $0.uniqueID.wholeMatch(of: /[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}/) != nil })
        #expect(Set(pins.map(\.uniqueID)).count == pins.count)
    }

    @Test func mediaKindProportions() {
        let n = Double(DefaultData.pins.count)
        func share(_ kind: String) -> Double { Double(DefaultData.pins.filter { $0.isImageOrVideo == kind }.count) / n }
        #expect(abs(share("image") - 0.85) < 0.03)
        #expect(abs(share("multi-video(story page format)") - 0.08) < 0.02)
        #expect(abs(share("video") - 0.05) < 0.02)
    }

    @Test func geolocationRanges() {
        let geos = DefaultData.geos
        let range = SampleDataGenerator.geoTimestampRange
        #expect(geos.allSatisfy { range.contains($0.timestamp) })
        #expect(Set(geos.map(\.timestamp.year)) == Set(2017...2022))
        #expect(geos.allSatisfy { (-90...90).contains($0.latitude) && (-180...180).contains($0.longitude) })
        #expect(geos.contains { $0.latitude < -80 } && geos.contains { $0.latitude > 80 })
        #expect(geos.contains { $0.longitude < -170 } && geos.contains { $0.longitude > 170 })
        // About six significant digits.
        for g in geos.prefix(2_000) {
            for v in [g.latitude, g.longitude] {
                let digits = String(v.magnitude).filter(\.isNumber).drop { $0 == "0" }
                #expect(digits.count <= 7, "\(v)")
            }
        }
    }

    @Test func countriesAreManyAndSkewedEarly() {
        let countries = DefaultData.geos.map(\.country)
        let distinct = Set(countries)
        #expect(distinct.count >= 230 && distinct.count <= 245)
        #expect(distinct.contains("Antarctica (the territory South of 60 deg S)"))
        #expect(distinct.contains("Cote d'Ivoire"))
        let sorted = distinct.sorted()
        let firstTenth = Set(sorted.prefix(sorted.count / 10))
        let share = Double(countries.filter { firstTenth.contains($0) }.count) / Double(countries.count)
        #expect(share > 0.3, "share of the first tenth of the alphabet: \(share)")
    }

    @Test func usersAgesAndJoiningDates() {
        let users = DefaultData.users
        #expect(users.allSatisfy { (20...59).contains($0.age) })
        #expect(Set(users.map(\.age)).count == 40)
        #expect(Set(users.map(\.dateJoined.year)) == [2015, 2016, 2017])
        let young = users.filter { $0.age <= 35 }.count
        #expect(Double(young) / Double(users.count) > 0.55, "skewed young")
        // The same person (first, last, age, date_joined) appears under several keys.
        struct Person: Hashable { let first: String, last: String, age: Int, joined: LocalTimestamp }
        var perPerson: [Person: Int] = [:]
        for u in users { perPerson[Person(first: u.firstName, last: u.lastName, age: u.age, joined: u.dateJoined), default: 0] += 1 }
        #expect(perPerson.count < users.count / 2)
        #expect(perPerson.values.filter { $0 >= 3 }.count > 500)
    }

    /// The published analyses: median follower count 18-24 >> 25-35 > 36-50 >= +50, and 2015 >> 2016 > 2017.
    @Test func medianFollowersFallWithAgeGroupAndJoiningYear() throws {
        var byGroup: [String: [Int]] = [:]
        var byYear: [Int: [Int]] = [:]
        for (pin, user) in zip(DefaultData.pins, DefaultData.users) {
            guard let followers = FollowerCount.parse(pin.followerCount) else { continue }
            let group = switch user.age {
            case ...24: "18-24"
            case 25...35: "25-35"
            case 36...50: "36-50"
            default: "+50"
            }
            byGroup[group, default: []].append(followers)
            byYear[user.dateJoined.year, default: []].append(followers)
        }
        let m = byGroup.mapValues(FollowerCount.lowerMedian)
        let y = byYear.mapValues(FollowerCount.lowerMedian)
        let (g1, g2, g3, g4) = (try #require(m["18-24"]), try #require(m["25-35"]), try #require(m["36-50"]), try #require(m["+50"]))
        #expect(g1 > 2 * g2, "\(m)")
        #expect(g2 > g3, "\(m)")
        #expect(g3 >= g4, "\(m)")
        let (y15, y16, y17) = (try #require(y[2015]), try #require(y[2016]), try #require(y[2017]))
        #expect(y15 > 2 * y16, "\(y)")
        #expect(y16 > y17, "\(y)")
    }
}

/// The cleaning rule for `follower_count` (`k` = ×1,000, `M` = ×1,000,000; `User Info Error` = null).
enum FollowerCount {
    static func parse(_ text: String) -> Int? {
        if text.hasSuffix("k") { return Int(text.dropLast()).map { $0 * 1_000 } }
        if text.hasSuffix("M") { return Int(text.dropLast()).map { $0 * 1_000_000 } }
        return Int(text)
    }

    /// Spark's `percentile_approx(x, 0.5)` picks the lower median.
    static func lowerMedian(_ values: [Int]) -> Int {
        let sorted = values.sorted()
        return sorted[(sorted.count - 1) / 2]
    }
}

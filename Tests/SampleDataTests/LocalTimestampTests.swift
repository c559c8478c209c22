import Testing

@testable import SampleData

@Suite struct LocalTimestampTests {
    @Test func printsLikePostgresAndISO() {
        let t = LocalTimestamp(year: 2020, month: 8, day: 28, hour: 3, minute: 52, second: 47)
        #expect(t.secondsSinceEpoch == 1_598_586_767)
        #expect(t.description == "2020-08-28 03:52:47")
        #expect(t.isoText == "2020-08-28T03:52:47")
    }

    @Test func epochAndLeapDays() {
        #expect(LocalTimestamp(secondsSinceEpoch: 0).description == "1970-01-01 00:00:00")
        #expect(LocalTimestamp(secondsSinceEpoch: -1).description == "1969-12-31 23:59:59")
        #expect(LocalTimestamp(year: 2016, month: 2, day: 29).description == "2016-02-29 00:00:00")
        #expect(LocalTimestamp(year: 2016, month: 3, day: 1).secondsSinceEpoch
            - LocalTimestamp(year: 2016, month: 2, day: 28).secondsSinceEpoch == 2 * 86_400)
        #expect(LocalTimestamp(year: 2017, month: 3, day: 1).secondsSinceEpoch
            - LocalTimestamp(year: 2017, month: 2, day: 28).secondsSinceEpoch == 86_400)
    }

    @Test func componentsRoundTripEveryDayOfTwoCenturies() {
        var seconds = LocalTimestamp(year: 1900, month: 1, day: 1, hour: 13, minute: 5, second: 9).secondsSinceEpoch
        var previous = LocalTimestamp(secondsSinceEpoch: seconds - 86_400).components
        for _ in 0..<(200 * 366) {
            let c = LocalTimestamp(secondsSinceEpoch: seconds).components
            #expect(LocalTimestamp(year: c.year, month: c.month, day: c.day, hour: c.hour, minute: c.minute,
                                   second: c.second).secondsSinceEpoch == seconds)
            // Consecutive days: the day advances by one or rolls over to the 1st.
            #expect(c.day == previous.day + 1 || (c.day == 1 && (c.month != previous.month)))
            previous = c
            seconds += 86_400
        }
    }
}

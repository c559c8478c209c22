// Module SampleData.

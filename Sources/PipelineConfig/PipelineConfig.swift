// Module PipelineConfig.

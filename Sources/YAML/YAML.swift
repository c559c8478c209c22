// Module YAML.

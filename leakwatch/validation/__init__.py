"""Data with a known truth: the demo's sample shards, the injection test's planned crawls, and the
pages and WARC files both are written as."""

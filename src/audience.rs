//! Recipients: CSV streaming, exclusions, duplicates, official accounts.

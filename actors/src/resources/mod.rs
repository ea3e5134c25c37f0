//! Resource types of `streaming.projectriff.io/v1alpha1`.

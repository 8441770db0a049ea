//! Schema changes as users make them: the index or constraint is changed in memory
//! (`index.rs`, `constraint.rs`), then logged through the commit sink as a record of its own
//! ([`RedoOp::CreateIndex`] ...), so the WAL and replicas see it in commit order. If the sink
//! refuses it (a full disk), the in-memory change is undone and the caller gets the error.
//!
//! Replaying such a record ([`Storage::apply_schema_op`]) is idempotent: an index that already
//! exists is no error, because a snapshot may already hold what a later record repeats. A
//! replayed schema op is checked when its record is prepared ([`Storage::check_schema_op`]) and
//! applied when it commits (`replay.rs`), undone ([`inverse_schema_op`]) if that commit fails.
//!
//! In read-only mode (a replica) every public function here fails with
//! [`StorageError::ReadOnly`] before changing anything; replay is not affected.

use crate::{ConstraintInfo, LabelId, PropertyId, RedoOp, Storage, StorageError};

impl Storage {
    /// `CREATE INDEX ON :label` / `CREATE INDEX ON :label(property)`: builds the index over the
    /// existing vertices while writes continue, then logs it. `Ok(false)` if it already existed.
    pub fn create_index(
        &self,
        label: LabelId,
        property: Option<PropertyId>,
    ) -> Result<bool, StorageError> {
        self.check_not_read_only()?;
        if !self.build_index(label, property)? {
            return Ok(false);
        }
        if let Err(err) = self.log_schema(RedoOp::CreateIndex {
            label: self.label_name(label).to_string(),
            property: property.map(|p| self.property_name(p).to_string()),
        }) {
            self.remove_index(label, property);
            return Err(err);
        }
        Ok(true)
    }

    /// `DROP INDEX ON ...`: `Ok(false)` if there was no such index.
    pub fn drop_index(
        &self,
        label: LabelId,
        property: Option<PropertyId>,
    ) -> Result<bool, StorageError> {
        self.check_not_read_only()?;
        if !self.remove_index(label, property) {
            return Ok(false);
        }
        if let Err(err) = self.log_schema(RedoOp::DropIndex {
            label: self.label_name(label).to_string(),
            property: property.map(|p| self.property_name(p).to_string()),
        }) {
            if let Err(rebuild) = self.build_index(label, property) {
                tracing::warn!("could not restore an index after its drop failed: {rebuild}");
            }
            return Err(err);
        }
        Ok(true)
    }

    /// `CREATE CONSTRAINT ON (n:L) ASSERT EXISTS (n.p)`. `Ok(false)` if it already exists; an
    /// error naming the constraint if an existing vertex violates it.
    pub fn create_existence_constraint(
        &self,
        label: LabelId,
        property: PropertyId,
    ) -> Result<bool, StorageError> {
        self.check_not_read_only()?;
        if !self.add_existence_constraint(label, property)? {
            return Ok(false);
        }
        let logged = self.log_schema(RedoOp::CreateExistenceConstraint {
            label: self.label_name(label).to_string(),
            property: self.property_name(property).to_string(),
        });
        self.undo_on_error(logged, || {
            self.remove_constraint(&ConstraintInfo::Exists { label, property })
        })?;
        Ok(true)
    }

    /// `CREATE CONSTRAINT ON (n:L) ASSERT n.a, ... IS UNIQUE`. `Ok(false)` if it already exists;
    /// an error if existing vertices share values.
    pub fn create_unique_constraint(
        &self,
        label: LabelId,
        properties: Vec<PropertyId>,
    ) -> Result<bool, StorageError> {
        self.check_not_read_only()?;
        if !self.add_unique_constraint(label, properties.clone())? {
            return Ok(false);
        }
        let logged = self.log_schema(RedoOp::CreateUniqueConstraint {
            label: self.label_name(label).to_string(),
            properties: self.property_names(&properties),
        });
        self.undo_on_error(logged, || {
            self.remove_constraint(&ConstraintInfo::Unique { label, properties })
        })?;
        Ok(true)
    }

    /// `DROP CONSTRAINT ...`: an error naming it if there is no such constraint.
    pub fn drop_constraint(&self, constraint: &ConstraintInfo) -> Result<(), StorageError> {
        self.check_not_read_only()?;
        self.remove_constraint(constraint)?;
        let op = match constraint {
            ConstraintInfo::Exists { label, property } => RedoOp::DropExistenceConstraint {
                label: self.label_name(*label).to_string(),
                property: self.property_name(*property).to_string(),
            },
            ConstraintInfo::Unique { label, properties } => RedoOp::DropUniqueConstraint {
                label: self.label_name(*label).to_string(),
                properties: self.property_names(properties),
            },
        };
        let logged = self.log_schema(op);
        self.undo_on_error(logged, || {
            match constraint {
                ConstraintInfo::Exists { label, property } => {
                    self.add_existence_constraint(*label, *property)
                }
                ConstraintInfo::Unique { label, properties } => {
                    self.add_unique_constraint(*label, properties.clone())
                }
            }
            .map(|_| ())
        })
    }

    /// Replays a schema op from a record (WAL recovery, a replica). Idempotent: `Ok(false)` if
    /// the schema already was that way (nothing to undo).
    pub(crate) fn apply_schema_op(&self, op: &RedoOp) -> Result<bool, StorageError> {
        let changed = match op {
            RedoOp::CreateIndex { label, property } => {
                let property = property.as_deref().map(|p| self.property(p));
                self.build_index(self.label(label), property)?
            }
            RedoOp::DropIndex { label, property } => {
                let property = property.as_deref().map(|p| self.property(p));
                self.remove_index(self.label(label), property)
            }
            RedoOp::CreateExistenceConstraint { label, property } => {
                self.add_existence_constraint(self.label(label), self.property(property))?
            }
            RedoOp::CreateUniqueConstraint { label, properties } => {
                let properties = properties.iter().map(|p| self.property(p)).collect();
                self.add_unique_constraint(self.label(label), properties)?
            }
            RedoOp::DropExistenceConstraint { .. } | RedoOp::DropUniqueConstraint { .. } => {
                let Some(constraint) = self.constraint_of(op) else {
                    return Err(not_schema(op));
                };
                let exists = self.constraint_info().contains(&constraint);
                if exists {
                    self.remove_constraint(&constraint)?;
                }
                exists
            }
            _ => return Err(not_schema(op)),
        };
        Ok(changed)
    }

    /// Checks that [`Storage::apply_schema_op`] would succeed now, changing nothing: only
    /// constraint creations can fail (existing vertices that violate them).
    pub(crate) fn check_schema_op(&self, op: &RedoOp) -> Result<(), StorageError> {
        match op {
            RedoOp::CreateExistenceConstraint { .. } | RedoOp::CreateUniqueConstraint { .. } => {
                match self.constraint_of(op) {
                    Some(constraint) => self.check_new_constraint(&constraint),
                    None => Err(not_schema(op)),
                }
            }
            op if op.is_schema() => Ok(()),
            _ => Err(not_schema(op)),
        }
    }

    /// The constraint a constraint op names (interning its names), `None` for other ops.
    fn constraint_of(&self, op: &RedoOp) -> Option<ConstraintInfo> {
        match op {
            RedoOp::CreateExistenceConstraint { label, property }
            | RedoOp::DropExistenceConstraint { label, property } => Some(ConstraintInfo::Exists {
                label: self.label(label),
                property: self.property(property),
            }),
            RedoOp::CreateUniqueConstraint { label, properties }
            | RedoOp::DropUniqueConstraint { label, properties } => Some(ConstraintInfo::Unique {
                label: self.label(label),
                properties: properties.iter().map(|p| self.property(p)).collect(),
            }),
            _ => None,
        }
    }

    fn property_names(&self, properties: &[PropertyId]) -> Vec<String> {
        properties
            .iter()
            .map(|p| self.property_name(*p).to_string())
            .collect()
    }

    /// Returns `result`; if it is an error, first runs `undo` (logging, not returning, its own
    /// failure: the first error is the one the user must see).
    fn undo_on_error(
        &self,
        result: Result<(), StorageError>,
        undo: impl FnOnce() -> Result<(), StorageError>,
    ) -> Result<(), StorageError> {
        if result.is_err() {
            if let Err(e) = undo() {
                tracing::warn!("could not undo a schema change the log refused: {e}");
            }
        }
        result
    }
}

fn not_schema(op: &RedoOp) -> StorageError {
    crate::write::invalid(format!("{op:?} is not a schema change"))
}

/// The schema op that undoes `op` (`None` for a data op): create and drop swap.
pub(crate) fn inverse_schema_op(op: &RedoOp) -> Option<RedoOp> {
    Some(match op.clone() {
        RedoOp::CreateIndex { label, property } => RedoOp::DropIndex { label, property },
        RedoOp::DropIndex { label, property } => RedoOp::CreateIndex { label, property },
        RedoOp::CreateExistenceConstraint { label, property } => {
            RedoOp::DropExistenceConstraint { label, property }
        }
        RedoOp::DropExistenceConstraint { label, property } => {
            RedoOp::CreateExistenceConstraint { label, property }
        }
        RedoOp::CreateUniqueConstraint { label, properties } => {
            RedoOp::DropUniqueConstraint { label, properties }
        }
        RedoOp::DropUniqueConstraint { label, properties } => {
            RedoOp::CreateUniqueConstraint { label, properties }
        }
        _ => return None,
    })
}

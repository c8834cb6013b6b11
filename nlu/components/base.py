"""What the project's Rasa components share: a configuration over their defaults, a place in the model storage,
creation from the recipe, and training data passed through unchanged."""

from __future__ import annotations

from typing import Any, Dict

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.training_data.training_data import TrainingData


class ConfiguredComponent(GraphComponent):
    def __init__(self, config: Dict[str, Any], model_storage: ModelStorage, resource: Resource) -> None:
        self.config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> ConfiguredComponent:
        return cls(config, model_storage, resource)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

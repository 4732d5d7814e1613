-- askdesk store, version 4: the decision behind each answer or hand-over of the bot (JSON, as
-- tickets keep it), so a ticket the customer opens through the hand-over form after the bot
-- handed over carries the bot's reason and signals. NULL for messages written before.

ALTER TABLE messages ADD COLUMN decision TEXT;
